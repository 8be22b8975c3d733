#pragma once

#include <string>
#include <utility>

#include <troupe/error.hpp>

namespace troupe {

/// An exception thrown by code that ran in another OS process (a task of a
/// pool whose workers are OS processes). The exception object cannot cross
/// the boundary, so this carries its type's name and its message:
/// `what()` reads "std::invalid_argument: bad input".
class child_exception : public error {
public:
  child_exception(std::string type_name, std::string message)
    : error(type_name + ": " + message), type_name_(std::move(type_name)),
      message_(std::move(message)) {}

  /// The original exception's type, demangled ("std::invalid_argument").
  [[nodiscard]] const std::string& type_name() const noexcept {
    return type_name_;
  }

  /// The original exception's `what()`.
  [[nodiscard]] const std::string& message() const noexcept {
    return message_;
  }

private:
  std::string type_name_;
  std::string message_;
};

} // namespace troupe
