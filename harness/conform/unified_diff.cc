#include "harness/conform/unified_diff.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace instar::harness {

namespace {

constexpr size_t kContext = 3;
constexpr size_t kMaxTableCells = size_t{4} << 20;

// Each line with its '\n', so that a last line without one differs from the
// same line with one, as it does for diff.
std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    end = end == std::string_view::npos ? text.size() : end + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

enum class Op : uint8_t { kEqual, kDelete, kInsert };

struct Edit {
  Op op;
  size_t line;  // index into the old (kEqual, kDelete) or new (kInsert) lines
};

// The edit script turning a[lo_a, hi_a) into b[lo_b, hi_b).
void DiffMiddle(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b,
                size_t lo_a, size_t hi_a, size_t lo_b, size_t hi_b, std::vector<Edit>& edits) {
  const size_t n = hi_a - lo_a;
  const size_t m = hi_b - lo_b;
  if (n == 0 || m == 0 || (n + 1) * (m + 1) > kMaxTableCells) {
    for (size_t i = lo_a; i < hi_a; ++i) edits.push_back({Op::kDelete, i});
    for (size_t j = lo_b; j < hi_b; ++j) edits.push_back({Op::kInsert, j});
    return;
  }
  // lcs[i][j]: the longest common subsequence of a[lo_a+i..] and b[lo_b+j..].
  std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
  auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      at(i, j) =
          a[lo_a + i] == b[lo_b + j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    }
  }
  size_t i = 0, j = 0;
  while (i < n && j < m) {
    if (a[lo_a + i] == b[lo_b + j]) {
      edits.push_back({Op::kEqual, lo_a + i});
      ++i;
      ++j;
    } else if (at(i + 1, j) >= at(i, j + 1)) {
      edits.push_back({Op::kDelete, lo_a + i++});
    } else {
      edits.push_back({Op::kInsert, lo_b + j++});
    }
  }
  for (; i < n; ++i) edits.push_back({Op::kDelete, lo_a + i});
  for (; j < m; ++j) edits.push_back({Op::kInsert, lo_b + j});
}

void AppendLine(std::string& out, char mark, std::string_view line) {
  out += mark;
  if (line.ends_with('\n')) {
    out.append(line);
  } else {
    out.append(line);
    out += "\n\\ No newline at end of file\n";
  }
}

// "start,count" as diff writes it: a single line is just "start", and an
// empty range names the line before it.
std::string Range(size_t first, size_t count) {
  if (count == 1) return std::to_string(first + 1);
  return std::to_string(count == 0 ? first : first + 1) + "," + std::to_string(count);
}

}  // namespace

std::string UnifiedDiff(std::string_view expected, std::string_view actual,
                        std::string_view expected_label, std::string_view actual_label) {
  if (expected == actual) return "";
  const std::vector<std::string_view> a = SplitLines(expected);
  const std::vector<std::string_view> b = SplitLines(actual);
  size_t head = 0;
  while (head < a.size() && head < b.size() && a[head] == b[head]) ++head;
  size_t tail = 0;
  while (tail < a.size() - head && tail < b.size() - head &&
         a[a.size() - 1 - tail] == b[b.size() - 1 - tail]) {
    ++tail;
  }
  std::vector<Edit> edits;
  for (size_t i = 0; i < head; ++i) edits.push_back({Op::kEqual, i});
  DiffMiddle(a, b, head, a.size() - tail, head, b.size() - tail, edits);
  for (size_t i = a.size() - tail; i < a.size(); ++i) edits.push_back({Op::kEqual, i});
  // Within a run of changes, removed lines first, as diff prints them.
  for (size_t run = 0; run < edits.size();) {
    if (edits[run].op == Op::kEqual) {
      ++run;
      continue;
    }
    size_t end = run;
    while (end < edits.size() && edits[end].op != Op::kEqual) ++end;
    std::stable_partition(edits.begin() + static_cast<std::ptrdiff_t>(run),
                          edits.begin() + static_cast<std::ptrdiff_t>(end),
                          [](const Edit& e) { return e.op == Op::kDelete; });
    run = end;
  }

  // The old and new line number at each edit, to head the hunks.
  std::vector<size_t> old_at(edits.size() + 1), new_at(edits.size() + 1);
  for (size_t k = 0, o = 0, n = 0; k <= edits.size(); ++k) {
    old_at[k] = o;
    new_at[k] = n;
    if (k == edits.size()) break;
    if (edits[k].op != Op::kInsert) ++o;
    if (edits[k].op != Op::kDelete) ++n;
  }

  std::string out;
  out += "--- ";
  out.append(expected_label);
  out += "\n+++ ";
  out.append(actual_label);
  out += "\n";
  size_t k = 0;
  while (k < edits.size()) {
    while (k < edits.size() && edits[k].op == Op::kEqual) ++k;
    if (k == edits.size()) break;
    // A hunk: from kContext lines before this change to kContext lines after
    // the last change that is no more than 2*kContext equal lines from the
    // one before it.
    const size_t begin = k >= kContext ? k - kContext : 0;
    size_t end = k;
    for (;;) {
      while (end < edits.size() && edits[end].op != Op::kEqual) ++end;
      size_t equal = end;
      while (equal < edits.size() && edits[equal].op == Op::kEqual) ++equal;
      if (equal < edits.size() && equal - end <= 2 * kContext) {
        end = equal;
        continue;
      }
      end = std::min(edits.size(), end + kContext);
      break;
    }
    out += "@@ -" + Range(old_at[begin], old_at[end] - old_at[begin]) + " +" +
           Range(new_at[begin], new_at[end] - new_at[begin]) + " @@\n";
    for (size_t e = begin; e < end; ++e) {
      switch (edits[e].op) {
        case Op::kEqual:
          AppendLine(out, ' ', a[edits[e].line]);
          break;
        case Op::kDelete:
          AppendLine(out, '-', a[edits[e].line]);
          break;
        case Op::kInsert:
          AppendLine(out, '+', b[edits[e].line]);
          break;
      }
    }
    k = end;
  }
  return out;
}

}  // namespace instar::harness
