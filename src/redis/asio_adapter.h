// hiredis ⇄ Asio: drives one `redisAsyncContext`'s socket from an executor
// (STYLE.md principle 11).
//
// hiredis owns the file descriptor: it opens it in `redisAsyncConnect` and
// closes it in `redisAsyncFree` (or when the connection fails). The adapter
// only waits for readiness (`async_wait`) on a `stream_descriptor` wrapping
// that fd, calls `redisAsyncHandleRead/Write` when it is ready, and in
// hiredis' `cleanup` hook releases (never closes) the descriptor, which also
// cancels its pending waits. Nothing here blocks.
//
// Threading: the context, the adapter and every hiredis callback live on the
// executor's thread. hiredis callbacks run inside `redisAsyncHandleRead/
// Write` (from the adapter's completion handlers) or inside `redisAsyncFree`
// (called by the owner of the context).
// Lifetime: hiredis holds the adapter from `attach` until its cleanup hook;
// pending waits hold it until they complete. The owner keeps only the
// `redisAsyncContext*` and frees it with `redisAsyncFree`.
#pragma once

#include <boost/asio/any_io_executor.hpp>

struct redisAsyncContext;

namespace github_proxy::redis {

// Installs the event hooks on a freshly connected (connect in progress)
// context. Must be called before `redisAsyncSetConnectCallback`, which asks
// for the first write event. Returns false if the context already has an
// event library attached or its fd is invalid.
bool attach_to_executor(redisAsyncContext* context, const boost::asio::any_io_executor& executor);

// hiredis 0.14 writes with write(2), so a write to a connection Redis has
// just dropped raises SIGPIPE, whose default action kills the process. This
// sets SIGPIPE to "ignored" once, unless the program installed its own
// handler; write(2) then fails with EPIPE and hiredis reports the
// disconnection. Called by `attach_to_executor`.
void ignore_sigpipe_once();

}  // namespace github_proxy::redis
