#pragma once
// The id of a token: what tokenizers produce and backbones, heads and backends consume. It lives
// here, below all of them, so that none has to include another to name it.

#include <cstdint>

namespace causalqwen {

using TokenId = std::int32_t;

}  // namespace causalqwen
