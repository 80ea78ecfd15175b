# Runs driven by an explicit schedule and `hvsim shrink`, one ctest per case of
# tests/explore/schedule.sh (`ctest -R schedule.`).
foreach(case from from-bad shrink shrink-pass)
  add_test(NAME schedule.${case}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/schedule.sh $<TARGET_FILE:hvsim>
                   ${CMAKE_BINARY_DIR}/schedule-runs ${case})
endforeach()
