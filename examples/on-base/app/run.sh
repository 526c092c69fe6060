#!/bin/sh
# Runs in the on-base image: busybox from the base layer, this script from strata's layer.
echo "$GREETING (sh is $(readlink /bin/sh), cwd $(pwd))"
