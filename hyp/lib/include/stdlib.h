/* <stdlib.h> for a freestanding build: libfdt includes it but needs nothing from it. */
#ifndef DISCV_STDLIB_H
#define DISCV_STDLIB_H

#include <stddef.h>

#endif
