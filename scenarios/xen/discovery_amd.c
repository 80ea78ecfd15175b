#define XEN_AMD 1
#include "discovery.c"
