# stop_matcher_test runs the server's StopMatcher, which the CLI target
# compiles with the rest of server/; the test compiles it itself.
if(TARGET stop_matcher_test)
  target_sources(stop_matcher_test PRIVATE ${CMAKE_SOURCE_DIR}/server/stop_matcher.cpp)
endif()
