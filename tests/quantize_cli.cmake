# tests/quantize_cli/test_quantize_py.py: files written by `vkinfer quantize`
# read by the reference reader (gguf.GGUFReader, gguf.quants.dequantize),
# with the project's venv (as gguf_writer.cmake).
set(VKINFER_QUANTIZE_PYTHON ${CMAKE_SOURCE_DIR}/.venv/bin/python)
if(EXISTS ${VKINFER_QUANTIZE_PYTHON} AND TARGET vkinfer)
  add_test(NAME quantize_cli_py_test
           COMMAND ${VKINFER_QUANTIZE_PYTHON} -m pytest -q -p no:cacheprovider
                   ${CMAKE_CURRENT_SOURCE_DIR}/quantize_cli)
  set_tests_properties(quantize_cli_py_test PROPERTIES ENVIRONMENT "${VKINFER_TEST_ENV}" TIMEOUT 300)
endif()
