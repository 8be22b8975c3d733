#pragma once

// troupe::manager and its proxies (troupe::managed::dict, list, value,
// name_space, object); link troupe::manager.

#include "troupe/manager/batch.hpp"
#include "troupe/manager/durable.hpp"
#include "troupe/manager/error.hpp"
#include "troupe/manager/manager.hpp"
