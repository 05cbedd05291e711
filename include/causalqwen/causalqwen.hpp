#pragma once
// Umbrella header: everything the library offers.

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/cauchy/cauchy.hpp>
#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/scale_link.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/head/checks.hpp>
#include <causalqwen/head/abduction.hpp>
#include <causalqwen/head/action.hpp>
#include <causalqwen/head/ovr.hpp>
#include <causalqwen/head/inference.hpp>
#include <causalqwen/head/targets.hpp>
#include <causalqwen/head/metrics.hpp>
#include <causalqwen/head/loss.hpp>
#include <causalqwen/head/causal_head.hpp>
