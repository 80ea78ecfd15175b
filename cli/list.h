/* list.h - `hvsim list`: the scenarios under a folder, or the model knobs (--knobs). */
#ifndef HV_CLI_LIST_H
#define HV_CLI_LIST_H

/* Runs the command; returns the exit code (0, or 2 for bad arguments or no such folder). */
int list_main(int argc, char **argv);

#endif
