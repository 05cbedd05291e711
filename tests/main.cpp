// The suite's main. ctest runs each test file alone through doctest's --source-file filter, and
// a filter that matches no test case (a renamed file, a path the build spelled differently)
// would pass without testing anything: such a run fails here instead.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

namespace {

struct SelectedCases : doctest::IReporter {
  static inline unsigned count = 0;

  explicit SelectedCases(const doctest::ContextOptions&) {}
  void test_run_end(const doctest::TestRunStats& stats) override { count = stats.numTestCasesPassingFilters; }

  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("selected_cases", 1, SelectedCases);

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit()) return result;  // --help, --list-test-cases and the like
  if (result == 0 && SelectedCases::count == 0) {
    std::fprintf(stderr, "no test case matches the filters given\n");
    return 1;
  }
  return result;
}
