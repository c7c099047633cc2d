#include "kernel.h"

static inline __attribute__((always_inline)) int next_id(void)
{
	static int id;
	return ++id;
}

int first(void)
{
	return next_id();
}

int second(void)
{
	return next_id() * 2;
}
