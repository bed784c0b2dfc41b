// The AWS SDK warns once per process that its releases after early 2027 need Node 22; the bench
// pins a version that runs on Node 20, so that warning is noise in the output. Set before any
// client exists; forked load workers inherit it.

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
