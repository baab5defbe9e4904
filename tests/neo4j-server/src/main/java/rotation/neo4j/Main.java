package rotation.neo4j;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/**
 * Runs a Neo4j DBMS with authentication on and Bolt on 127.0.0.1 at a free port.
 *
 * <p>Usage: {@code Main <home directory>}, with the first user's password in the environment
 * variable {@code NEO4J_INITIAL_PASSWORD} (not an argument: arguments show in process lists).
 * Prints {@code {"bolt_port": N}} once Bolt accepts logins, then serves until its standard
 * input closes, so it never outlives the process that started it.
 */
public final class Main {
    public static void main(String[] args) throws Exception {
        if (args.length != 1 || System.getenv("NEO4J_INITIAL_PASSWORD") == null) {
            System.err.println("usage: NEO4J_INITIAL_PASSWORD=... Main <home directory>");
            System.exit(2);
        }
        Path home = Path.of(args[0]);
        int port = freePort();
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, 16L * 1024 * 1024)
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(dbms::shutdown));
        dbms.database("system").executeTransactionally(
                "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                Map.of("password", System.getenv("NEO4J_INITIAL_PASSWORD")));
        System.out.println("{\"bolt_port\": " + port + "}");
        System.out.flush();
        while (System.in.read() != -1) {
            // Serve until whoever started us closes our standard input.
        }
        System.exit(0);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
