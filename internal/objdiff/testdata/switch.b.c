#include "kernel.h"

const char *state_name(int state)
{
	switch (state) {
	case 0: return "idle";
	case 1: return "running";
	case 2: return "halted";
	case 3: return "dead";
	case 4: return "zombie";
	}
	return "unknown";
}
