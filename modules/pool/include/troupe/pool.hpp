#pragma once

// troupe::pool (modules/pool): Python's multiprocessing.Pool as a
// supervised worker fleet. Link troupe::pool.

#include "troupe/pool/async_result.hpp"
#include "troupe/pool/error.hpp"
#include "troupe/pool/imap.hpp"
#include "troupe/pool/pool.hpp"
