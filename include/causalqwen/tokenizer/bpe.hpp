#pragma once
// Byte-pair encoding of one pre-tokenized piece. The piece starts as one symbol per byte; the
// adjacent pair with the lowest merge rank (leftmost among equals) is merged until no pair has a
// rank. Candidate pairs sit in a min-heap over a doubly linked list of symbols, so a piece of n
// bytes costs O(n log n), not the O(n^2) of rescanning all pairs after every merge; stale heap
// entries (a neighbour already merged away) are skipped when popped, as in Hugging Face's BPE.
// Short pieces (most words) take a simpler path with the same result: pair ranks in a small array,
// scanned for the minimum after each merge, which beats heap upkeep below a few dozen bytes.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/token.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <string_view>
#include <utility>
#include <vector>

namespace causalqwen {

/// Merge rules: (left id, right id) -> (rank, merged id). Open addressing keeps a lookup to one
/// or two cache lines, which dominates BPE time.
class MergeTable {
 public:
  struct Merge {
    std::int32_t rank;
    TokenId merged;
  };

  MergeTable() = default;
  explicit MergeTable(std::size_t expected) { rehash(std::bit_ceil(std::max<std::size_t>(16, expected * 2))); }

  /// Adds a rule; false when the pair already has one (the first, lower-ranked, rule is kept).
  bool insert(TokenId left, TokenId right, Merge merge) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(std::max<std::size_t>(16, slots_.size() * 2));
    const std::uint64_t key = pack(left, right);
    std::size_t slot = index(key);
    while (slots_[slot].key != empty_key) {
      if (slots_[slot].key == key) return false;
      slot = (slot + 1) & mask_;
    }
    slots_[slot] = {key, merge};
    ++size_;
    return true;
  }

  const Merge* find(TokenId left, TokenId right) const {
    if (slots_.empty()) return nullptr;
    const std::uint64_t key = pack(left, right);
    for (std::size_t slot = index(key);; slot = (slot + 1) & mask_) {
      if (slots_[slot].key == key) return &slots_[slot].merge;
      if (slots_[slot].key == empty_key) return nullptr;
    }
  }

  std::size_t size() const { return size_; }

 private:
  struct Slot {
    std::uint64_t key;
    Merge merge;
  };
  static constexpr std::uint64_t empty_key = ~std::uint64_t{0};  // ids are non-negative: never a real key

  static std::uint64_t pack(TokenId left, TokenId right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
  }
  std::size_t index(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);  // Fibonacci hashing: top bits
  }
  void rehash(std::size_t capacity) {
    std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(capacity, Slot{empty_key, {}}));
    mask_ = capacity - 1;
    shift_ = 64 - std::countr_zero(capacity);
    size_ = 0;
    for (const Slot& slot : old)
      if (slot.key != empty_key) {
        std::size_t s = index(slot.key);
        while (slots_[s].key != empty_key) s = (s + 1) & mask_;
        slots_[s] = slot;
        ++size_;
      }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  int shift_ = 64;
  std::size_t size_ = 0;
};

/// Reusable buffers for bpe_merge, so encoding many pieces allocates nothing per piece.
struct BpeScratch {
  struct Symbol {
    TokenId id;
    std::int32_t prev, next;  // -1 = none
  };
  struct Candidate {
    std::int32_t rank, pos;
    TokenId left, right;  // the pair this entry was made for, to detect it went stale
    TokenId merged;
    friend bool operator>(const Candidate& a, const Candidate& b) {
      return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
    }
  };
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};

namespace detail {
inline constexpr std::size_t short_piece_bytes = 24;

inline void bpe_merge_short(std::string_view piece, const std::array<TokenId, 256>& byte_ids, const MergeTable& merges,
                            std::vector<TokenId>& out) {
  constexpr std::int32_t none = std::numeric_limits<std::int32_t>::max();
  std::array<TokenId, short_piece_bytes> symbols;
  std::array<MergeTable::Merge, short_piece_bytes> pairs;  // pairs[i]: symbols[i] + symbols[i + 1]
  std::size_t n = piece.size();
  const auto pair_at = [&](std::size_t i) {
    const MergeTable::Merge* merge = merges.find(symbols[i], symbols[i + 1]);
    return merge != nullptr ? *merge : MergeTable::Merge{none, -1};
  };
  for (std::size_t i = 0; i < n; ++i) symbols[i] = byte_ids[static_cast<unsigned char>(piece[i])];
  for (std::size_t i = 0; i + 1 < n; ++i) pairs[i] = pair_at(i);
  while (n > 1) {
    std::size_t best = 0;
    for (std::size_t i = 1; i + 1 < n; ++i)
      if (pairs[i].rank < pairs[best].rank) best = i;  // strict: the leftmost among equal ranks
    if (pairs[best].rank == none) break;
    symbols[best] = pairs[best].merged;
    for (std::size_t i = best + 1; i + 1 < n; ++i) symbols[i] = symbols[i + 1];
    for (std::size_t i = best + 1; i + 2 < n; ++i) pairs[i] = pairs[i + 1];
    --n;
    if (best > 0) pairs[best - 1] = pair_at(best - 1);
    if (best + 1 < n) pairs[best] = pair_at(best);
  }
  out.insert(out.end(), symbols.begin(), symbols.begin() + static_cast<std::ptrdiff_t>(n));
}
}  // namespace detail

/// Encodes one piece of raw bytes and appends its token ids to `out`. `byte_ids[b]` is the id of
/// the single-byte token for byte b.
inline void bpe_merge(std::string_view piece, const std::array<TokenId, 256>& byte_ids, const MergeTable& merges,
                      BpeScratch& scratch, std::vector<TokenId>& out) {
  const auto n = static_cast<std::int32_t>(piece.size());
  if (n == 0) return;
  if (piece.size() <= detail::short_piece_bytes) {
    detail::bpe_merge_short(piece, byte_ids, merges, out);
    return;
  }
  auto& symbols = scratch.symbols;
  auto& heap = scratch.heap;
  symbols.resize(piece.size());
  heap.clear();
  const auto later = std::greater<>{};
  const auto push_pair = [&](std::int32_t pos) {
    const std::int32_t next = symbols[pos].next;
    if (next < 0) return;
    if (const MergeTable::Merge* merge = merges.find(symbols[pos].id, symbols[next].id)) {
      heap.push_back({merge->rank, pos, symbols[pos].id, symbols[next].id, merge->merged});
      std::push_heap(heap.begin(), heap.end(), later);
    }
  };
  for (std::int32_t i = 0; i < n; ++i) symbols[i] = {byte_ids[static_cast<unsigned char>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1};
  for (std::int32_t i = 0; i + 1 < n; ++i) push_pair(i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const BpeScratch::Candidate top = heap.back();
    heap.pop_back();
    auto& left = symbols[top.pos];
    if (left.id < 0 || left.next < 0) continue;  // merged away, or lost its right neighbour
    auto& right = symbols[left.next];
    if (left.id != top.left || right.id != top.right) continue;  // the pair changed since it was queued
    left.id = top.merged;
    const std::int32_t after = right.next;
    right.id = -1;
    left.next = after;
    if (after >= 0) symbols[after].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (std::int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace causalqwen
