/*
 * lifecycle.c: storage for the process phase declared in lifecycle.h.
 */
#include "lifecycle.h"

_Atomic int lifecycle_phase_now = PHASE_STARTING;
