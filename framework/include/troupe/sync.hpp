#pragma once

// troupe's owned synchronization in one include.

#include "troupe/array.hpp"
#include "troupe/barrier.hpp"
#include "troupe/condition.hpp"
#include "troupe/lock.hpp"
#include "troupe/rlock.hpp"
#include "troupe/semaphore.hpp"
#include "troupe/sync_options.hpp"
#include "troupe/value.hpp"
