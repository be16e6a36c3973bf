/** Neural-network numerics: softmax family and one-hot encoding. */
export { softmax, logSoftmax } from './softmax.js'
export { oneHot } from './one-hot.js'
