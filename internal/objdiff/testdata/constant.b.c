#include "kernel.h"

int slow(int x)
{
	__might_sleep(__FILE__, __LINE__);
	return x + 1;
}

int other(int x)
{
	consume(x);
	record(__FILE__, 8);
	return x;
}
