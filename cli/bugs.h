/* bugs.h - `hvsim list --bugs`: the bug zoo of models/bugs.def, as text or as TSV. */
#ifndef HV_CLI_BUGS_H
#define HV_CLI_BUGS_H

/* argv: the arguments after --bugs (none, or --tsv). Returns the exit code (0, or 2 for bad
 * arguments). */
int bugs_list(int argc, char **argv);

#endif
