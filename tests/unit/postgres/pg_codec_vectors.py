"""Hand-written byte vectors for the PostgreSQL codec: (message, exact wire bytes).

Every vector was written from "Message Formats" (protocol 3.0), not produced by
the encoder, so the tests check the codec against the spec in both directions.
Shared by the codec, framing and fuzz tests.
"""

from __future__ import annotations

from wardgate_postgres.codec import (
    AuthenticationCleartextPassword,
    AuthenticationMD5Password,
    AuthenticationOk,
    AuthenticationOther,
    AuthenticationSASL,
    AuthenticationSASLContinue,
    AuthenticationSASLFinal,
    BackendKeyData,
    Bind,
    BindComplete,
    CancelRequest,
    Close,
    CloseComplete,
    CommandComplete,
    CopyBothResponse,
    CopyData,
    CopyDone,
    CopyFail,
    CopyInResponse,
    CopyOutResponse,
    DataRow,
    Describe,
    EmptyQueryResponse,
    ErrorResponse,
    Execute,
    FieldDescription,
    Flush,
    FunctionCall,
    FunctionCallResponse,
    GSSENCRequest,
    NegotiateProtocolVersion,
    NoData,
    NoticeResponse,
    NotificationResponse,
    ParameterDescription,
    Parameters,
    ParameterStatus,
    Parse,
    ParseComplete,
    PasswordMessage,
    PortalSuspended,
    Query,
    ReadyForQuery,
    RowDescription,
    SSLRequest,
    StartupMessage,
    Sync,
    Terminate,
)

FRONTEND: list[tuple[object, bytes]] = [
    (Query("select 1"), b"Q\x00\x00\x00\x0dselect 1\x00"),
    (Query("select 'é'"), b"Q\x00\x00\x00\x10select '\xc3\xa9'\x00"),
    (Query(""), b"Q\x00\x00\x00\x05\x00"),
    (
        Parse("s1", "select $1", (23,)),
        b"P\x00\x00\x00\x17s1\x00select $1\x00\x00\x01\x00\x00\x00\x17",
    ),
    (Parse("", "select 1"), b"P\x00\x00\x00\x10\x00select 1\x00\x00\x00"),
    (Parse("", "x", (4294967295,)), b"P\x00\x00\x00\x0d\x00x\x00\x00\x01\xff\xff\xff\xff"),
    (
        Bind("p1", "s1", (1,), (b"\x00\x00\x00\x2a", None), (0, 1)),
        b"B\x00\x00\x00\x22p1\x00s1\x00\x00\x01\x00\x01\x00\x02"
        b"\x00\x00\x00\x04\x00\x00\x00\x2a\xff\xff\xff\xff\x00\x02\x00\x00\x00\x01",
    ),
    (Bind("", ""), b"B\x00\x00\x00\x0c\x00\x00\x00\x00\x00\x00\x00\x00"),
    (
        Bind("", "", (0, 1), (b"a", b""), ()),
        b"B\x00\x00\x00\x19\x00\x00\x00\x02\x00\x00\x00\x01\x00\x02"
        b"\x00\x00\x00\x01a\x00\x00\x00\x00\x00\x00",
    ),
    (Describe("S", "s1"), b"D\x00\x00\x00\x08Ss1\x00"),
    (Describe("P", ""), b"D\x00\x00\x00\x06P\x00"),
    (Execute("", 0), b"E\x00\x00\x00\x09\x00\x00\x00\x00\x00"),
    (Execute("p1", 100), b"E\x00\x00\x00\x0bp1\x00\x00\x00\x00\x64"),
    (Sync(), b"S\x00\x00\x00\x04"),
    (Flush(), b"H\x00\x00\x00\x04"),
    (Terminate(), b"X\x00\x00\x00\x04"),
    (Close("P", "p1"), b"C\x00\x00\x00\x08Pp1\x00"),
    (Close("S", ""), b"C\x00\x00\x00\x06S\x00"),
    (CopyData(b"1\tfoo\n"), b"d\x00\x00\x00\x0a1\tfoo\n"),
    (CopyDone(), b"c\x00\x00\x00\x04"),
    (CopyFail("boom"), b"f\x00\x00\x00\x09boom\x00"),
    (
        FunctionCall(1234, (0,), (b"ab",), 1),
        b"F\x00\x00\x00\x16\x00\x00\x04\xd2\x00\x01\x00\x00\x00\x01\x00\x00\x00\x02ab\x00\x01",
    ),
    (PasswordMessage(b"secret\x00"), b"p\x00\x00\x00\x0bsecret\x00"),
    (
        PasswordMessage(b"SCRAM-SHA-256\x00\x00\x00\x00\x09n,,n=,r=x"),
        b"p\x00\x00\x00\x1fSCRAM-SHA-256\x00\x00\x00\x00\x09n,,n=,r=x",
    ),
]

ROW_FIELDS = (
    FieldDescription("id", 16384, 1, 23, 4, -1, 0),
    FieldDescription("?column?", 0, 0, 25, -1, -1, 0),
)

BACKEND: list[tuple[object, bytes]] = [
    (AuthenticationOk(), b"R\x00\x00\x00\x08\x00\x00\x00\x00"),
    (AuthenticationCleartextPassword(), b"R\x00\x00\x00\x08\x00\x00\x00\x03"),
    (
        AuthenticationMD5Password(b"\x01\x02\x03\x04"),
        b"R\x00\x00\x00\x0c\x00\x00\x00\x05\x01\x02\x03\x04",
    ),
    (
        AuthenticationSASL(("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256")),
        b"R\x00\x00\x00\x2a\x00\x00\x00\x0aSCRAM-SHA-256-PLUS\x00SCRAM-SHA-256\x00\x00",
    ),
    (
        AuthenticationSASLContinue(b"r=abc,s=xyz,i=4096"),
        b"R\x00\x00\x00\x1a\x00\x00\x00\x0br=abc,s=xyz,i=4096",
    ),
    (AuthenticationSASLFinal(b"v=abc="), b"R\x00\x00\x00\x0e\x00\x00\x00\x0cv=abc="),
    (AuthenticationOther(7), b"R\x00\x00\x00\x08\x00\x00\x00\x07"),
    (AuthenticationOther(8, b"tok"), b"R\x00\x00\x00\x0b\x00\x00\x00\x08tok"),
    (
        ParameterStatus("client_encoding", "UTF8"),
        b"S\x00\x00\x00\x19client_encoding\x00UTF8\x00",
    ),
    (BackendKeyData(1234, -5), b"K\x00\x00\x00\x0c\x00\x00\x04\xd2\xff\xff\xff\xfb"),
    (
        RowDescription(ROW_FIELDS),
        b"T\x00\x00\x00\x36\x00\x02"
        b"id\x00\x00\x00\x40\x00\x00\x01\x00\x00\x00\x17\x00\x04\xff\xff\xff\xff\x00\x00"
        b"?column?\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x19\xff\xff\xff\xff\xff\xff\x00\x00",
    ),
    (RowDescription(()), b"T\x00\x00\x00\x06\x00\x00"),
    (
        DataRow((b"1", None, b"")),
        b"D\x00\x00\x00\x13\x00\x03\x00\x00\x00\x011\xff\xff\xff\xff\x00\x00\x00\x00",
    ),
    (DataRow(()), b"D\x00\x00\x00\x06\x00\x00"),
    (CommandComplete("SELECT 1"), b"C\x00\x00\x00\x0dSELECT 1\x00"),
    (
        ErrorResponse((("S", "ERROR"), ("V", "ERROR"), ("C", "42501"), ("M", "permission denied"))),
        b"E\x00\x00\x00\x2dSERROR\x00VERROR\x00C42501\x00Mpermission denied\x00\x00",
    ),
    (
        NoticeResponse((("S", "NOTICE"), ("M", "hi"))),
        b"N\x00\x00\x00\x11SNOTICE\x00Mhi\x00\x00",
    ),
    (NotificationResponse(42, "ch", "pl"), b"A\x00\x00\x00\x0e\x00\x00\x00\x2ach\x00pl\x00"),
    (CopyInResponse(0, (0, 0)), b"G\x00\x00\x00\x0b\x00\x00\x02\x00\x00\x00\x00"),
    (CopyOutResponse(1, (1,)), b"H\x00\x00\x00\x09\x01\x00\x01\x00\x01"),
    (CopyBothResponse(0, ()), b"W\x00\x00\x00\x07\x00\x00\x00"),
    (CopyData(b"x"), b"d\x00\x00\x00\x05x"),
    (CopyDone(), b"c\x00\x00\x00\x04"),
    (ReadyForQuery("I"), b"Z\x00\x00\x00\x05I"),
    (ReadyForQuery("T"), b"Z\x00\x00\x00\x05T"),
    (ReadyForQuery("E"), b"Z\x00\x00\x00\x05E"),
    (ParseComplete(), b"1\x00\x00\x00\x04"),
    (BindComplete(), b"2\x00\x00\x00\x04"),
    (CloseComplete(), b"3\x00\x00\x00\x04"),
    (NoData(), b"n\x00\x00\x00\x04"),
    (PortalSuspended(), b"s\x00\x00\x00\x04"),
    (EmptyQueryResponse(), b"I\x00\x00\x00\x04"),
    (
        ParameterDescription((23, 4294967295)),
        b"t\x00\x00\x00\x0e\x00\x02\x00\x00\x00\x17\xff\xff\xff\xff",
    ),
    (
        NegotiateProtocolVersion(0, ("_pq_.foo",)),
        b"v\x00\x00\x00\x15\x00\x00\x00\x00\x00\x00\x00\x01_pq_.foo\x00",
    ),
    (FunctionCallResponse(b"ok"), b"V\x00\x00\x00\x0a\x00\x00\x00\x02ok"),
    (FunctionCallResponse(None), b"V\x00\x00\x00\x08\xff\xff\xff\xff"),
]

STARTUP: list[tuple[object, bytes]] = [
    (
        StartupMessage(196608, Parameters((("user", "alice"), ("database", "db")))),
        b"\x00\x00\x00\x20\x00\x03\x00\x00user\x00alice\x00database\x00db\x00\x00",
    ),
    (StartupMessage(196610, Parameters()), b"\x00\x00\x00\x09\x00\x03\x00\x02\x00"),
    (SSLRequest(), b"\x00\x00\x00\x08\x04\xd2\x16\x2f"),
    (GSSENCRequest(), b"\x00\x00\x00\x08\x04\xd2\x16\x30"),
    (
        CancelRequest(1234, 5678),
        b"\x00\x00\x00\x10\x04\xd2\x16\x2e\x00\x00\x04\xd2\x00\x00\x16\x2e",
    ),
]


def ids(vectors: list[tuple[object, bytes]]) -> list[str]:
    """Readable test ids: the message class and its index."""
    return [f"{i}-{type(message).__name__}" for i, (message, _) in enumerate(vectors)]
