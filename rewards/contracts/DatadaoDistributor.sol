// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title DatadaoDistributor
/// @notice Reference payout contract for datadao rewards. The service closes an epoch off-chain,
/// builds an OpenZeppelin StandardMerkleTree of (account, amount) and signs its root; anyone can
/// relay that root here and each account then claims its own leaf. Single payouts that should not
/// wait for an epoch go through EIP-712 vouchers signed by the same key.
/// @dev The contract pays out of its own token balance: fund it before roots or vouchers are
/// redeemed. The signer is fixed at deployment; rotating it means deploying a new distributor,
/// which keeps every signature ever issued bound to exactly one verifyingContract.
/// One signer serves every DAO of a platform, so each signed struct also names the DAO it is
/// for (`daoId`), and a distributor is deployed for exactly one DAO: a root or voucher signed for
/// any other DAO is refused here, whatever contract address that DAO's creator configured.
contract DatadaoDistributor is EIP712 {
    using SafeERC20 for IERC20;

    struct Claim {
        bytes32 daoId;
        address contributor;
        uint256 amount;
        uint256 nonce;
        uint256 deadline;
        bytes32 datasetId;
    }

    bytes32 public constant EPOCH_ROOT_TYPEHASH =
        keccak256("EpochRoot(bytes32 daoId,uint256 epoch,bytes32 root,uint256 total)");
    bytes32 public constant CLAIM_TYPEHASH = keccak256(
        "Claim(bytes32 daoId,address contributor,uint256 amount,uint256 nonce,uint256 deadline,bytes32 datasetId)"
    );

    IERC20 public immutable token;
    address public immutable signer;
    /// @notice The one DAO this distributor pays for: the platform's bytes32 id of that DAO.
    bytes32 public immutable daoId;

    /// @notice Merkle root per epoch; zero means "not set", which is why a zero root is refused.
    mapping(uint256 epoch => bytes32) public epochRoot;
    /// @notice Signed ceiling on what an epoch may pay out, so a faulty tree cannot drain the pool.
    mapping(uint256 epoch => uint256) public epochTotal;
    mapping(uint256 epoch => uint256) public epochClaimed;
    mapping(uint256 epoch => mapping(address account => bool)) public claimed;
    mapping(address contributor => mapping(uint256 nonce => bool)) public nonceUsed;

    event EpochRootSet(uint256 indexed epoch, bytes32 root, uint256 total, address indexed relayer);
    event Claimed(uint256 indexed epoch, address indexed account, uint256 amount);
    event VoucherRedeemed(
        address indexed contributor, uint256 indexed nonce, bytes32 indexed datasetId, uint256 amount
    );

    error ZeroAddress();
    error ZeroDaoId();
    error WrongDao(bytes32 daoId);
    error ZeroRoot();
    error RootAlreadySet(uint256 epoch);
    error UnknownEpoch(uint256 epoch);
    error AlreadyClaimed(uint256 epoch, address account);
    error InvalidProof();
    error EpochTotalExceeded(uint256 epoch);
    error InvalidSignature();
    error Expired(uint256 deadline);
    error NonceUsed(address contributor, uint256 nonce);

    constructor(IERC20 token_, address signer_, bytes32 daoId_) EIP712("DatadaoDistributor", "1") {
        if (address(token_) == address(0) || signer_ == address(0)) revert ZeroAddress();
        if (daoId_ == bytes32(0)) revert ZeroDaoId();
        token = token_;
        signer = signer_;
        daoId = daoId_;
    }

    /// @notice Publish the Merkle root of a closed epoch. Anyone may relay it; only the signer's
    /// EIP-712 signature over (daoId, epoch, root, total) makes it valid, and each epoch is set
    /// once. A root signed for another DAO is refused before it can take an epoch number.
    function setEpochRoot(
        bytes32 daoId_,
        uint256 epoch,
        bytes32 root,
        uint256 total,
        bytes calldata signature
    ) external {
        if (daoId_ != daoId) revert WrongDao(daoId_);
        if (root == bytes32(0)) revert ZeroRoot();
        if (epochRoot[epoch] != bytes32(0)) revert RootAlreadySet(epoch);
        _requireSigner(epochRootDigest(daoId_, epoch, root, total), signature);

        epochRoot[epoch] = root;
        epochTotal[epoch] = total;
        emit EpochRootSet(epoch, root, total, msg.sender);
    }

    /// @notice Claim the caller's leaf of an epoch. The leaf is the StandardMerkleTree encoding of
    /// (msg.sender, amount), so a proof cannot be replayed for anybody else.
    function claim(uint256 epoch, uint256 amount, bytes32[] calldata proof) external {
        bytes32 root = epochRoot[epoch];
        if (root == bytes32(0)) revert UnknownEpoch(epoch);
        if (claimed[epoch][msg.sender]) revert AlreadyClaimed(epoch, msg.sender);
        // Double hashing is StandardMerkleTree's guard against second-preimage attacks: a 64-byte
        // inner node can never be mistaken for a leaf.
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(msg.sender, amount))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof();

        uint256 paid = epochClaimed[epoch] + amount;
        if (paid > epochTotal[epoch]) revert EpochTotalExceeded(epoch);
        claimed[epoch][msg.sender] = true;
        epochClaimed[epoch] = paid;
        emit Claimed(epoch, msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Redeem a signer-issued voucher. Anyone may submit it (a relayer can pay the gas);
    /// the tokens always go to `c.contributor`.
    function claimVoucher(Claim calldata c, bytes calldata signature) external {
        if (c.daoId != daoId) revert WrongDao(c.daoId);
        if (c.deadline < block.timestamp) revert Expired(c.deadline);
        if (nonceUsed[c.contributor][c.nonce]) revert NonceUsed(c.contributor, c.nonce);
        _requireSigner(claimDigest(c), signature);

        nonceUsed[c.contributor][c.nonce] = true;
        emit VoucherRedeemed(c.contributor, c.nonce, c.datasetId, c.amount);
        token.safeTransfer(c.contributor, c.amount);
    }

    /// @notice The EIP-712 digest the signer signs for an epoch root; exposed so off-chain code
    /// can check its encoding against the contract's.
    function epochRootDigest(bytes32 daoId_, uint256 epoch, bytes32 root, uint256 total)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(abi.encode(EPOCH_ROOT_TYPEHASH, daoId_, epoch, root, total))
        );
    }

    /// @notice The EIP-712 digest the signer signs for a voucher.
    function claimDigest(Claim calldata c) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    CLAIM_TYPEHASH,
                    c.daoId,
                    c.contributor,
                    c.amount,
                    c.nonce,
                    c.deadline,
                    c.datasetId
                )
            )
        );
    }

    /// @notice The EIP-712 domain separator (chainId and this address are part of it).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _requireSigner(bytes32 digest, bytes calldata signature) private view {
        // recoverCalldata already refuses malformed signatures (wrong length, v not 27/28, high-s)
        // with OpenZeppelin's ECDSA* errors; a well-formed signature by any other key lands here.
        if (ECDSA.recoverCalldata(digest, signature) != signer) revert InvalidSignature();
    }
}
