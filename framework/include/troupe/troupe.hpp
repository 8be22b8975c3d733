#pragma once

// The framework in one include.

#include "troupe/actor.hpp"
#include "troupe/attach.hpp"
#include "troupe/bytes.hpp"
#include "troupe/child_spec.hpp"
#include "troupe/error.hpp"
#include "troupe/event.hpp"
#include "troupe/fwd.hpp"
#include "troupe/joinable_queue.hpp"
#include "troupe/pipe.hpp"
#include "troupe/print.hpp"
#include "troupe/process.hpp"
#include "troupe/queue.hpp"
#include "troupe/runtime.hpp"
#include "troupe/select.hpp"
#include "troupe/simple_queue.hpp"
#include "troupe/supervisor.hpp"
#include "troupe/sync.hpp"
#include "troupe/this_process.hpp"
#include "troupe/wait.hpp"
