# Tests of the causalqwen command beyond the tutorial: bad input to each subcommand, and the HTTP
# server driven by concurrent and hostile clients.
add_test(NAME command.bad_inputs COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/bad_command_inputs.sh
  $<TARGET_FILE:causalqwen_command> ${PROJECT_SOURCE_DIR}/tests/data)
set_tests_properties(command.bad_inputs PROPERTIES LABELS command TIMEOUT 600)

find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME command.serve COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/serve_test.py
    $<TARGET_FILE:causalqwen_command>)
  set_tests_properties(command.serve PROPERTIES LABELS command TIMEOUT 600)
else()
  add_test(NAME command.serve COMMAND ${CMAKE_COMMAND} -E echo "CAUSALQWEN_SKIPPED: no Python 3 to drive the server")
  set_tests_properties(command.serve PROPERTIES LABELS command SKIP_REGULAR_EXPRESSION "CAUSALQWEN_SKIPPED:")
endif()
