#pragma once
// Umbrella header: everything the library offers.

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/cauchy/cauchy.hpp>
#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/tokenizer/added_tokens.hpp>
#include <causalqwen/tokenizer/bpe.hpp>
#include <causalqwen/tokenizer/byte_level.hpp>
#include <causalqwen/tokenizer/normalizer.hpp>
#include <causalqwen/tokenizer/numbers.hpp>
#include <causalqwen/tokenizer/pretokenizer.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>
#include <causalqwen/tokenizer/utf8.hpp>
