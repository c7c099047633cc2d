/* Stand-ins for kernel declarations, so the fixtures build without a
 * kernel tree. */
#define __init __attribute__((section(".init.text"), cold))
void __might_sleep(const char *file, int line);
void record(const char *where, int value);
void consume(int value);
int printk(const char *fmt, ...);
struct lock_class_key { char unused[16]; };
void lockdep_init(void *lock, const char *name, struct lock_class_key *key);
#define init_lock(l) do { static struct lock_class_key __key; lockdep_init(l, #l, &__key); } while (0)
