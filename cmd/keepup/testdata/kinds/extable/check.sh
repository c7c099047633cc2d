#!/bin/sh
# Lists, with a shell glob, a directory that holds only the file
# keepup-probe, and passes once the listing shows keepup-found, the name
# the patched filldir64 copies out to getdents64's buffer. filldir64
# writes each entry with unsafe_put_user, so every one of those stores has
# an exception table entry.
dir=/tmp/kinds-extable
mkdir -p $dir
touch $dir/keepup-probe
names=$(cd $dir && echo *)
echo "$names"
[ "$names" = keepup-found ]
