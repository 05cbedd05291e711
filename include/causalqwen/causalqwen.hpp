#pragma once
// Umbrella header: everything the library offers.

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/cauchy/cauchy.hpp>
#include <causalqwen/cauchy/divergence.hpp>
#include <causalqwen/cauchy/fisher.hpp>
#include <causalqwen/cauchy/fusion_bounds.hpp>
#include <causalqwen/cauchy/independent.hpp>
#include <causalqwen/cauchy/linear_closure.hpp>
#include <causalqwen/cauchy/sampling.hpp>
#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
