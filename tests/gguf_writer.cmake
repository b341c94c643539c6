# tests/gguf_writer/test_gguf_writer_py.py: a file written by vkinfer's
# GGUF writer (the gguf_writer_test binary writes it) read back by the
# `gguf` package's GGUFReader, with the project's venv (as server.cmake).
set(VKINFER_GGUF_WRITER_PYTHON ${CMAKE_SOURCE_DIR}/.venv/bin/python)
if(EXISTS ${VKINFER_GGUF_WRITER_PYTHON} AND TARGET gguf_writer_test)
  add_test(NAME gguf_writer_py_test
           COMMAND ${VKINFER_GGUF_WRITER_PYTHON} -m pytest -q -p no:cacheprovider
                   ${CMAKE_CURRENT_SOURCE_DIR}/gguf_writer)
  set_tests_properties(gguf_writer_py_test PROPERTIES
    ENVIRONMENT "${VKINFER_TEST_ENV};VKINFER_GGUF_WRITER_TEST=$<TARGET_FILE:gguf_writer_test>"
    TIMEOUT 300)
endif()
