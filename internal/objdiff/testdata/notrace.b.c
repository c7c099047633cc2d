#include "kernel.h"

static __attribute__((noinline, no_instrument_function)) int scale(int x)
{
	return x * 4;
}

int area(int x)
{
	return scale(x) + 1;
}

int volume(int x)
{
	return scale(x) * x;
}

int unrelated(int x)
{
	return x - 1;
}
