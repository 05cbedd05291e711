#pragma once
// How every program reports failure: one line "<program>: error: <what failed, naming the file
// or field>" on stderr and exit code 1, whatever was thrown, a command-line mistake included;
// memory exhaustion names itself instead of printing a bare std::bad_alloc.

#include <causalqwen/core/error.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <new>
#include <string_view>

namespace causalqwen::programs {

/// Runs `body` (which returns the exit code) and turns any exception into the one-line report.
template <class Body>
int run_program(std::string_view name, CLI::App& app, int argc, char** argv, Body&& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; every other command-line mistake is the same one
    // line as any other failure, with exit code 1.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "%.*s: error: %s (see --help)\n", int(name.size()), name.data(), e.what());
    return 1;
  }
  try {
    return body();
  } catch (const causalqwen::error& e) {
    std::fprintf(stderr, "%.*s: error: %s\n", int(name.size()), name.data(), e.what());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%.*s: error: out of memory (an input asks for more than this machine has)\n",
                 int(name.size()), name.data());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%.*s: error: %s\n", int(name.size()), name.data(), e.what());
  }
  return 1;
}

}  // namespace causalqwen::programs
