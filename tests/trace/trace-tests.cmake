# Trace durability and old traces, one ctest per case of tests/trace/durability.sh
# (`ctest -R trace.` runs them all). Without the sqlite3 shell a case exits 77 and ctest
# reports it skipped, never passed.
set(HVSIM_TRACE_CASES kill-at kill-external interrupt old-traces crash-points)
foreach(case ${HVSIM_TRACE_CASES})
  add_test(NAME trace.${case}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/durability.sh $<TARGET_FILE:hvsim>
                   ${CMAKE_BINARY_DIR}/trace-runs ${case})
  set_tests_properties(trace.${case} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()

# Damaged and hostile traces through show, show --json and replay (tests/trace/corrupt.sh);
# without the sqlite3 shell or jq it exits 77 and ctest reports it skipped.
add_test(NAME trace.corrupt
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/corrupt.sh $<TARGET_FILE:hvsim>
                 ${CMAKE_BINARY_DIR}/trace-runs)
set_tests_properties(trace.corrupt PROPERTIES SKIP_RETURN_CODE 77)
