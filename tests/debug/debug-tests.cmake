# gdb-multiarch in batch mode against `hvsim debug`, one ctest per case of
# tests/debug/gdb-session.sh (`ctest -R gdb.`). Without gdb-multiarch they are skipped (77).
foreach(case x86_64 aarch64 arm stale-lookup replay-gdb model-write bad-input)
  add_test(NAME gdb.${case}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/gdb-session.sh $<TARGET_FILE:hvsim>
                   ${CMAKE_BINARY_DIR}/gdb-sessions ${case})
  set_tests_properties(gdb.${case} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()
