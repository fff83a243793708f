// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestToken
/// @notice TEST-ONLY. An ERC-20 whose `mint` is open to anyone, used by the test suite to fund the
/// distributor on a local EVM. Never deploy it to a real network.
contract TestToken is ERC20 {
    constructor() ERC20("Datadao Test Token", "DDT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
