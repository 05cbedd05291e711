#pragma once
// Umbrella header: everything the library offers.

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/cauchy/cauchy.hpp>
#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/io/checkpoint.hpp>
#include <causalqwen/io/dtype.hpp>
#include <causalqwen/io/mapped_file.hpp>
#include <causalqwen/io/safetensors.hpp>
