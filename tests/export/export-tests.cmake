# `hvsim export` (tests/export/check-export.sh): one ctest per case. Without the sqlite3 shell
# or xmllint a case exits 77 and ctest reports it skipped, never passed.
set(HVSIM_EXPORT_CASES migration continuation exits csv picture bad-input)
foreach(case ${HVSIM_EXPORT_CASES})
  add_test(NAME export.${case}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check-export.sh $<TARGET_FILE:hvsim>
                   ${CMAKE_BINARY_DIR}/export-runs ${case})
  set_tests_properties(export.${case} PROPERTIES SKIP_RETURN_CODE 77
                       ENVIRONMENT HVSIM_CACHE_DIR=${CMAKE_BINARY_DIR}/guest-cache)
endforeach()
