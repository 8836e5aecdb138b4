// Readiness probe for the local Kafka started by deploy/local/up.sh: succeeds (exit 0) only
// when the broker answers real admin requests (describe cluster + list topics), which is
// later than "the port accepts connections". Prints the broker count and topic names.
//
// Why not kafka-topics (org.apache.kafka.tools.TopicCommand)? The kafka-tools artifact is
// not served for 4.4.0 here, and the broker's own jars include the Admin client anyway.
//
// Usage: java -cp '<lib>/*:<classes>' KafkaReady 127.0.0.1:9092
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

public final class KafkaReady {
  public static void main(String[] args) throws Exception {
    String bootstrap = args.length > 0 ? args[0] : "127.0.0.1:9092";
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    // Short timeouts: the caller polls, so one attempt must not hang for a minute.
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "4000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "6000");
    try (Admin admin = Admin.create(props)) {
      int brokers = admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).size();
      if (brokers < 1) {
        System.err.println("no brokers registered yet");
        System.exit(1);
      }
      TreeSet<String> topics = new TreeSet<>(admin.listTopics().names().get(10, TimeUnit.SECONDS));
      System.out.println("kafka at " + bootstrap + ": " + brokers + " broker(s), topics: " + topics);
    } catch (Exception e) {
      System.err.println("kafka at " + bootstrap + " not ready: " + e);
      System.exit(1);
    }
  }
}
