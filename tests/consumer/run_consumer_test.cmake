# Installs causalqwen into a scratch prefix, then configures, builds and runs a separate project
# that finds it with find_package(causalqwen), one that asks for the cauchy component alone, and
# one that uses add_subdirectory.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run_step)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "step failed (${result}): ${ARGV}\n${out}\n${err}")
  endif()
endfunction()

set(prefix ${WORK_DIR}/prefix)
run_step(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/lib-build
  -DCAUSALQWEN_BUILD_TESTS=OFF -DCAUSALQWEN_BUILD_EXAMPLES=OFF -DCAUSALQWEN_BUILD_BENCHMARKS=OFF
  -DCAUSALQWEN_BUILD_COMMAND=OFF -DCAUSALQWEN_PYTHON=OFF
  -DCMAKE_INSTALL_PREFIX=${prefix})
run_step(${CMAKE_COMMAND} --install ${WORK_DIR}/lib-build)

foreach(mode find_package component add_subdirectory)
  run_step(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/${mode}
    -DCMAKE_PREFIX_PATH=${prefix} -DCONSUMER_MODE=${mode} -DCAUSALQWEN_SOURCE_DIR=${SOURCE_DIR})
  run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/${mode})
  run_step(${WORK_DIR}/${mode}/consumer)
endforeach()
