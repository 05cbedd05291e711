# Finds every dependency of causalqwen::causalqwen. Shared by the build tree and the
# installed package config so both resolve the same Debian packages the same way.
include(CMakeFindDependencyMacro)
find_dependency(Eigen3 3.4 NO_MODULE)
find_dependency(nlohmann_json 3.10)
find_dependency(xtensor)
find_dependency(Threads)
find_dependency(OpenMP)
find_dependency(PkgConfig)
pkg_check_modules(CAUSALQWEN_PCRE2 REQUIRED IMPORTED_TARGET GLOBAL libpcre2-8)
pkg_check_modules(CAUSALQWEN_UTF8PROC REQUIRED IMPORTED_TARGET GLOBAL libutf8proc)
