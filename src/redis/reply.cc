#include "redis/reply.h"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <memory>
#include <new>

namespace github_proxy::redis {

reply copy_reply(const redisReply& r) {
  reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = reply::kind::string;
      break;
    case REDIS_REPLY_STATUS:
      out.type = reply::kind::status;
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply::kind::error;
      break;
    case REDIS_REPLY_INTEGER:
      out.type = reply::kind::integer;
      out.integer = r.integer;
      return out;
    case REDIS_REPLY_ARRAY:
      out.type = reply::kind::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) {
        out.elements.push_back(r.element[i] ? copy_reply(*r.element[i]) : reply{});
      }
      return out;
    default:  // REDIS_REPLY_NIL
      return out;
  }
  if (r.str) out.text.assign(r.str, r.len);
  return out;
}

}  // namespace github_proxy::redis

namespace github_proxy::redis {

namespace {

// hiredis' own array constructor, taken from a default reader once.
void* (*default_create_array)(const redisReadTask*, int) = nullptr;

void* bounded_create_array(const redisReadTask* task, int elements) {
  if (elements > max_reply_elements) return nullptr;  // hiredis: an error, the reply is dropped
  return default_create_array(task, elements);
}

redisReplyObjectFunctions bounded_functions() {
  std::unique_ptr<redisReader, void (*)(redisReader*)> probe(redisReaderCreate(), &redisReaderFree);
  if (!probe) throw std::bad_alloc();
  redisReplyObjectFunctions functions = *probe->fn;
  default_create_array = functions.createArray;
  functions.createArray = &bounded_create_array;
  return functions;
}

}  // namespace

redisReader* make_bounded_reader() {
  static redisReplyObjectFunctions functions = bounded_functions();
  return redisReaderCreateWithFunctions(&functions);
}

}  // namespace github_proxy::redis
