// globalTeardown of the cluster runs: stops the Redis Cluster that jest-redis-cluster.cjs started.
'use strict';
module.exports = require('./jest-redis-cluster.cjs').teardown;
