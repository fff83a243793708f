// The test chain: Hardhat's node on a loopback port, chain id 31337, offline (no forking).
// Mining is automatic; tests switch to interval or manual mining over RPC (evm_setAutomine).
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      hardfork: "cancun",
      mining: { auto: true },
    },
  },
};
