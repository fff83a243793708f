// Promise.withResolvers is Node >= 22; a dependency of ipfs@0.66.1 calls it, and CI runs Node 20.
// Loaded with NODE_OPTIONS=--require <abs path>/polyfill.cjs before any ESM module evaluates.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve
    let reject
    const promise = new this((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}
