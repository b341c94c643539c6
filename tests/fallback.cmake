# The op tests again with every optional device feature turned off, so the
# fallback kernels (shared-memory reductions, storage-buffer weights, no
# fp16/int8 features) are covered on a driver that has all of them.
foreach(op_test matmul_test attention_test small_ops_test rotary_embedding_test sampling_test)
  if(TARGET ${op_test})
    add_test(NAME ${op_test}_fallbacks COMMAND ${op_test})
    set_tests_properties(${op_test}_fallbacks PROPERTIES
      ENVIRONMENT "${VKINFER_TEST_ENV};VKINFER_DISABLE_FEATURES=all" TIMEOUT 900)
  endif()
endforeach()

# The decoder goldens again with decode rows through the GEMV kernel, the
# path desktop GPUs take (lavapipe's policy sends K <= 2048 rows to the tiled
# kernel).
if(TARGET decoder_test)
  add_test(NAME decoder_test_gemv COMMAND decoder_test)
  set_tests_properties(decoder_test_gemv PROPERTIES
    ENVIRONMENT "${VKINFER_TEST_ENV};VKINFER_KERNEL_TUNING=tiled_max_k_small_m=0" TIMEOUT 600)
endif()
