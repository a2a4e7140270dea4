#ifndef COPENBLAS_SHIM_H
#define COPENBLAS_SHIM_H
#include <cblas.h>
/* Declared by OpenBLAS but not always in cblas.h on every build. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif
