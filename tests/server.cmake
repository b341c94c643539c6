# `vkinfer serve` through pytest against the real binary on loopback
# (tests/server/test_server.py), with the project's venv (scripts/setup.sh
# installs pytest and the openai client there).
set(VKINFER_VENV_PYTHON ${CMAKE_SOURCE_DIR}/.venv/bin/python)
if(EXISTS ${VKINFER_VENV_PYTHON})
  add_test(NAME server_test
           COMMAND ${VKINFER_VENV_PYTHON} -m pytest -q -p no:cacheprovider ${CMAKE_CURRENT_SOURCE_DIR}/server)
  set_tests_properties(server_test PROPERTIES ENVIRONMENT "${VKINFER_TEST_ENV}" TIMEOUT 600)
endif()
