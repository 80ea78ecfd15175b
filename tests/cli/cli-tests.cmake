# The hvsim program's exit codes, one ctest per case of tests/cli/exit-codes.sh
# (`ctest -R cli.` runs them all). A case that cannot run (a missing tool) exits 77 and ctest
# reports it skipped, never passed.
set(HVSIM_CLI_CASES diff-codes help-diff
                    assert-unexpected vcpu-failed bad-key bad-config-value bad-knob
                    set-unknown set-value bad-memory bad-vmm bad-step bad-expect bad-event-kind
                    bad-outcome missing-scenario show-text show-vm show-kinds replay-text
                    replay-tampered version no-args help-run state-bad blame-bad explore-bad-input
                    step-no-args bad-guest
                    memory-budget memory-budget-set event-budget bad-dirty-ring
                    guest-text list-bugs)
foreach(case ${HVSIM_CLI_CASES})
  add_test(NAME cli.${case}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/exit-codes.sh $<TARGET_FILE:hvsim>
                   ${CMAKE_BINARY_DIR}/cli-runs ${case})
  set_tests_properties(cli.${case} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()

# `hvsim list` wraps descriptions to COLUMNS and keeps them whole.
add_test(NAME cli.list-wrap COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/list-wrap.sh $<TARGET_FILE:hvsim>)
# The progress line on a terminal, and turned off (tests/cli/progress.sh).
add_test(NAME cli.progress COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/progress.sh $<TARGET_FILE:hvsim>
                                   ${CMAKE_BINARY_DIR}/cli-runs/progress)
set_tests_properties(cli.progress PROPERTIES SKIP_RETURN_CODE 77)
