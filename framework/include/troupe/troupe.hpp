#pragma once

// The framework in one include.

#include "troupe/actor.hpp"
#include "troupe/error.hpp"
#include "troupe/fwd.hpp"
#include "troupe/print.hpp"
#include "troupe/process.hpp"
#include "troupe/runtime.hpp"
#include "troupe/this_process.hpp"
