#include "kernel.h"

struct dev { int a, b, c; };

void dev_init(struct dev *d)
{
	init_lock(&d->a);
	init_lock(&d->b);
	init_lock(&d->c);
}

int counter(void)
{
	static int calls;
	return ++calls;
}
